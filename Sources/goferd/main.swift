print("goferd: not built yet")
