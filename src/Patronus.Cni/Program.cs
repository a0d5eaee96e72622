using Microsoft.Win32.SafeHandles;
using Patronus.Cni.Commands;

// Plain streams over descriptors 0 and 1: System.Console would set up terminal handling and start a signal
// thread on first use (measured: about half a millisecond per run), none of which a plugin needs.
using var stdin = Open(0, FileAccess.Read, Console.OpenStandardInput);
using var stdout = Open(1, FileAccess.Write, Console.OpenStandardOutput);
return Invocation.Run(Environment.GetEnvironmentVariable, stdin, stdout);

// A closed or odd descriptor gets Console's handling (an empty stream) rather than an unhandled exception.
static Stream Open(int fd, FileAccess access, Func<Stream> fallback)
{
    try
    {
        return new FileStream(new SafeFileHandle(fd, ownsHandle: false), access, bufferSize: 0);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
    {
        return fallback();
    }
}
