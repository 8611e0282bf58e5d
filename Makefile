# Convenience aliases; ./nodeops is the entry point (it needs only bash on a fresh machine).
.PHONY: demo test lint sanity unit images lab-up lab-down bootstrap
demo test lint sanity unit images lab-up lab-down bootstrap:
	./nodeops $@
