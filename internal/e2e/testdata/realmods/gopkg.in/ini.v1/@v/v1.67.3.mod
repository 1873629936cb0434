module gopkg.in/ini.v1

go 1.13

require github.com/stretchr/testify v1.11.1
