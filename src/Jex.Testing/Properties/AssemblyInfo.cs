// The kit runs the runtime's own code, which is built for Linux only (see Jex.Runtime.Core).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
