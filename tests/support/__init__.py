"""What the tests and the benchmarks share besides the loopback cloud
(testcloud): in-process doubles (a loopback fake OpenStack API, one
Gnocchi client fake, a fake backup driver), real Cinder objects,
recorders of what was sent, the configurations they build, the wrapper
inside Cinder's harness, and test data.
"""

# The unit tests' sizes: they do not import the loopback cloud (testcloud)
# for its own.
MIB = 1024 * 1024
