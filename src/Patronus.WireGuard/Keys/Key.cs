using System.Security.Cryptography;
using NSec.Cryptography;

namespace Patronus.WireGuard;

/// <summary>What a <see cref="Key"/> is for; private and preshared keys are secrets.</summary>
public enum KeyKind
{
    Public,
    Private,
    Preshared,
}

/// <summary>
/// A 32-byte WireGuard key. A secret (private or preshared) never shows in <see cref="ToString"/>, so it cannot
/// reach a log, an exception message or an interpolated string by accident; <see cref="ToBase64"/> is the one
/// deliberate way out (to write a 0600 key file, say). Equality compares kind and bytes in constant time.
/// </summary>
public sealed class Key : IEquatable<Key>
{
    public const int Length = 32;

    private readonly byte[] _bytes;

    private Key(KeyKind kind, byte[] bytes)
    {
        Kind = kind;
        _bytes = bytes;
    }

    public KeyKind Kind { get; }

    public bool IsSecret => Kind != KeyKind.Public;

    /// <summary>The raw bytes, for the wire encoders.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>A new X25519 private key from libsodium's generator (through NSec).</summary>
    public static Key GeneratePrivate()
    {
        using var key = NSec.Cryptography.Key.Create(
            KeyAgreementAlgorithm.X25519,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        return new Key(KeyKind.Private, key.Export(KeyBlobFormat.RawPrivateKey));
    }

    /// <summary>A new preshared key: 32 random bytes, as `wg genpsk` makes one.</summary>
    public static Key GeneratePreshared() => new(KeyKind.Preshared, RandomNumberGenerator.GetBytes(Length));

    /// <summary>The public key of this private key (X25519 scalar multiplication of the base point, through NSec).</summary>
    public Key PublicKey()
    {
        if (Kind != KeyKind.Private)
        {
            throw new InvalidOperationException($"only a private key has a public key; this is a {Kind.ToString().ToLowerInvariant()} key");
        }

        using var key = NSec.Cryptography.Key.Import(KeyAgreementAlgorithm.X25519, _bytes, KeyBlobFormat.RawPrivateKey);
        return new Key(KeyKind.Public, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public static Key FromBytes(KeyKind kind, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"a WireGuard {kind.ToString().ToLowerInvariant()} key is {Length} bytes, not {bytes.Length}", nameof(bytes));
        }

        return new Key(kind, bytes.ToArray());
    }

    /// <summary>Parses the base64 form `wg` prints; the error never repeats the text (it may be a secret).</summary>
    public static Key Parse(KeyKind kind, string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        var bytes = new byte[Length];
        if (!Convert.TryFromBase64String(base64.Trim(), bytes, out var written) || written != Length)
        {
            throw new FormatException($"a WireGuard {kind.ToString().ToLowerInvariant()} key must be {Length} bytes in base64 (44 characters)");
        }

        return new Key(kind, bytes);
    }

    /// <summary>The base64 form `wg` reads and prints. For a secret, the caller takes care where it goes.</summary>
    public string ToBase64() => Convert.ToBase64String(_bytes);

    /// <summary>The UAPI's form: lowercase hex.</summary>
    internal string ToHex() => Convert.ToHexStringLower(_bytes);

    /// <summary>Parses the UAPI's hex form; the error never repeats the text.</summary>
    internal static Key FromHex(KeyKind kind, string hex)
    {
        if (hex.Length != Length * 2)
        {
            throw new FormatException($"a WireGuard {kind.ToString().ToLowerInvariant()} key must be {Length * 2} hex digits");
        }

        try
        {
            return new Key(kind, Convert.FromHexString(hex));
        }
        catch (FormatException)
        {
            throw new FormatException($"a WireGuard {kind.ToString().ToLowerInvariant()} key must be {Length * 2} hex digits");
        }
    }

    /// <summary>All zeros: what WireGuard reports for "no preshared key".</summary>
    internal bool IsZero => _bytes.AsSpan().IndexOfAnyExcept((byte)0) < 0;

    /// <summary>A public key's base64; "(private key)" or "(preshared key)" for a secret.</summary>
    public override string ToString() => Kind == KeyKind.Public ? ToBase64() : $"({Kind.ToString().ToLowerInvariant()} key)";

    public bool Equals(Key? other)
        => other is not null && other.Kind == Kind && CryptographicOperations.FixedTimeEquals(_bytes, other._bytes);

    public override bool Equals(object? obj) => Equals(obj as Key);

    public override int GetHashCode() => Kind == KeyKind.Public ? HashCode.Combine(Kind, BitConverter.ToInt32(_bytes)) : (int)Kind;
}
