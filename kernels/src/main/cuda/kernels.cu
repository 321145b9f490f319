// The single translation unit nvcc turns into kernels.fatbin: include every kernel file here.
#include "kv_cache_test_kernels.cuh"
#include "gemm.cuh"
#include "gemm_wgmma.cuh"
#include "attention.cuh"
#include "sampling.cuh"
#include "layers.cuh"
#include "megakernel/megakernel.cuh"
