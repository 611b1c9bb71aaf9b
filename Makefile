# Thin aliases for ./run, which holds the set-up (make may be absent on a fresh machine).
.PHONY: demo test fast setup accuracy
demo test fast setup accuracy:
	./run $@
