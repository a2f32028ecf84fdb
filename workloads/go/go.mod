module benchharness/workloads/go

go 1.22
