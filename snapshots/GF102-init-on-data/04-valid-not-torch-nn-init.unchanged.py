import mylib.init as init
init.normal_(m.weight.data)
