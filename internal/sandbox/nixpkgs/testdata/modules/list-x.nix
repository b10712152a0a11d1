{ test.list = [ "x" ]; }
