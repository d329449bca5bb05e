for i in range(10**8):
    print("flood " * 20)
