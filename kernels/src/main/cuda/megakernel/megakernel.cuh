// The persistent decode megakernel (docs/architecture.md, "The megakernel").
#pragma once
#include "mk_kernel.cuh"
