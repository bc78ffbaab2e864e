// The runtime uses Linux facilities (kill(2), umask(2), Unix sockets, /dev/shm): it runs beside
// Jet members on Linux hosts and containers only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
