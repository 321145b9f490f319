// Placeholder: filled by the gemm kernels work.
