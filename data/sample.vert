The
cat
sat
on
the
mat
.

Where
did
you
put
my
keys
?

It
's
raining
again
.
