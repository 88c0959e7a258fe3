import CSnappy
import CZlib
import CZstd
