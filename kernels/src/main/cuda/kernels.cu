// The single translation unit nvcc turns into kernels.fatbin: include every kernel file here.
#include "kv_cache_test_kernels.cuh"
