{ test.port = "eighty"; }
