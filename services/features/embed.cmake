# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake: writes `const char NAME[]` holding
# the bytes of IN plus a terminating NUL.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* generated from ${IN} by embed.cmake: do not edit */\nconst char ${NAME}[] = {\n${bytes}0x00};\n")
