/// The version of QuantForge's code generator: part of every kernel-cache key, tuning record and
/// AOT header. Changing what code generation emits invalidates cached objects and measurements, so
/// it changes with it (and only then; the package version is `QuantForgeVersion.package`).
public let generatorVersion = "0.7.3"
