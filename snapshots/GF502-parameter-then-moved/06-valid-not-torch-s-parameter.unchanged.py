from mylib import Parameter
p = Parameter(3).to(unit)
