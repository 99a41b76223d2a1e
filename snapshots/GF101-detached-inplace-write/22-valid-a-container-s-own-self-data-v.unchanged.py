class Store:
    def __init__(self):
        self.data = {}

    def put(self, key, value):
        self.data[key] = value
