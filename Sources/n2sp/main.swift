print("n2sp")
