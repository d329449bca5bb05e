# Blank every later cell through IPython (nbgrader #1324 style), then hand in wrong answers.
get_ipython().input_transformers_cleanup.append(lambda lines: [])
