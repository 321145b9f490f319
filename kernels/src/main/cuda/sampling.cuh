// Placeholder: filled by the sampling kernels work.
