{ test.name = "a"; }
