import CCurl
import CLibCrypto
