print("n2spd")
