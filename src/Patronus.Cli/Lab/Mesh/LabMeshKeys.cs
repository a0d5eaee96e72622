using NSec.Cryptography;
using Patronus.Cli.Lab.Plan;
using Patronus.Mesh.Announcements;
using Patronus.Mesh.Identity;
using Key = NSec.Cryptography.Key;
using KeyFile = Patronus.WireGuard.KeyFile;

namespace Patronus.Cli.Lab.Mesh;

/// <summary>
/// The lab plays the cluster set's operator: one Ed25519 cluster-set key per lab (its private part in a 0600 file in
/// the lab's state folder, never printed or logged), and for every gateway a key folder (0700) with its identity and
/// WireGuard keys (0600) and a member certificate for its cluster's ranges, made before its agent starts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class LabMeshKeys
{
    public const string ClusterSetKeyFile = "cluster-set.key";

    /// <summary>How long the lab's member certificates hold: longer than any lab lives.</summary>
    public static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(365);

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public static string KeysDirectory(NodePlan node) => Path.Combine(node.Paths.Directory, "mesh");

    /// <summary>The cluster set's key, created on first use.</summary>
    public static Key LoadOrCreateClusterSetKey(string labDirectory)
    {
        var path = Path.Combine(labDirectory, ClusterSetKeyFile);
        if (!File.Exists(path))
        {
            using var created = Key.Create(Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
            KeyFile.WriteSecret(path, created.Export(KeyBlobFormat.RawPrivateKey));
        }
        var seed = KeyFile.ReadSecret(path, 32, "Ed25519 cluster-set");
        try
        {
            return Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        }
        finally
        {
            Array.Clear(seed);
        }
    }

    /// <summary>The raw 32-byte public key, base64: the agents' --cluster-set-key.</summary>
    public static string PublicKey(Key setKey) => Convert.ToBase64String(setKey.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    /// <summary>The gateway's key folder with its keys and a certificate for its cluster's ranges.</summary>
    public static string EnsureGateway(Key setKey, ClusterPlan cluster, NodePlan node)
    {
        var folder = KeysDirectory(node);
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var identity = MemberIdentity.EnsureKeys(folder);
        var certificate = ClusterSetAuthority.Certify(setKey,
            new MemberCertificate(cluster.Id, identity, DateTimeOffset.UtcNow + CertificateLifetime, MeshArguments.AuthorizedPrefixes(cluster)));
        File.WriteAllText(Path.Combine(folder, MemberIdentity.CertificateFile), Convert.ToBase64String(certificate) + "\n");
        return folder;
    }
}
