{ test.nonexistent.enable = true; }
