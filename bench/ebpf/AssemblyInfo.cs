// These run only where the code under test does: Linux (netlink, namespaces, Unix file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
