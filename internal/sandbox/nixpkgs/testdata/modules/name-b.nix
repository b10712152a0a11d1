{ test.name = "b"; }
