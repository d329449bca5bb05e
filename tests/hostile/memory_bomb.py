# Touch memory 100 MiB at a time until something stops us.
hoard = []
while True:
    hoard.append(b"x" * (100 << 20))
