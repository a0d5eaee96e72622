namespace Patronus.WireGuard;

/// <summary>
/// A WireGuard device could not be read or configured. The message names the device and what failed; it never
/// carries key material (keys print redacted, and parsers do not echo what they could not read).
/// </summary>
public sealed class WireGuardException : Exception
{
    public WireGuardException(string device, string message, int errno = 0, Exception? inner = null)
        : base($"WireGuard device \"{device}\": {message}", inner)
    {
        Device = device;
        Errno = errno;
    }

    public string Device { get; }

    /// <summary>The positive errno the implementation reported, or 0.</summary>
    public int Errno { get; }

    /// <summary>No such device (for either implementation).</summary>
    public bool IsNotFound { get; init; }
}
