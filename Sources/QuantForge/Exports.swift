// `import QuantForge` brings the whole public API: the DSL, the scheduler's types and the kernels.
@_exported import QuantCodegen
@_exported import QuantOps
@_exported import QuantSchedule
@_exported import QuantRuntime
@_exported import QuantFiles
