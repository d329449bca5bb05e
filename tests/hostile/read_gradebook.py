print(open("{course}/gradebook.db", "rb").read()[:100])
