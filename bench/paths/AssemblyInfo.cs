// These run only where the code under test does: Linux (namespaces, /proc).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
