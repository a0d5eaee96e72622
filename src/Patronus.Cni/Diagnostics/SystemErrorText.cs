using System.Runtime.InteropServices;

namespace Patronus.Cni.Diagnostics;

/// <summary>
/// Words for a failure of the system underneath (a file, a socket), for messages an operator reads. The plugin is
/// built with UseSystemResourceKeys, which strips the framework's message texts: an IOException's Message reads
/// "IO_FileNotFound_FileName, /path" there. So the text comes from the errno the framework keeps, through the C
/// library's strerror, and never from <see cref="Exception.Message"/> of a framework exception.
/// </summary>
public static class SystemErrorText
{
    private const int ENOENT = 2;
    private const int ENAMETOOLONG = 36;

    // The framework stores a raw errno as the HResult of the IOException it throws for an unmapped error
    // (EEXIST, ENOTDIR, EROFS, ENOSPC, ...), and as the inner exception of an UnauthorizedAccessException.
    private const int MaxErrno = 4095;

    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => Marshal.GetPInvokeErrorMessage(ENOENT),
        PathTooLongException => Marshal.GetPInvokeErrorMessage(ENAMETOOLONG),
        IOException { HResult: > 0 and <= MaxErrno } io => Marshal.GetPInvokeErrorMessage(io.HResult),
        UnauthorizedAccessException { InnerException: IOException { HResult: > 0 and <= MaxErrno } inner } => Marshal.GetPInvokeErrorMessage(inner.HResult),
        UnauthorizedAccessException => "permission denied",
        OutOfMemoryException => "out of memory",
        _ => $"an unexpected failure (HRESULT 0x{e.HResult:X8})",
    };
}
