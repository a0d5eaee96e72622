// Key files are protected by Unix file modes, and the mesh runs only where WireGuard and netlink do.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
