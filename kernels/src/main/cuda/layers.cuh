// Placeholder: filled by the layers kernels work.
