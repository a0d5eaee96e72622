namespace Patronus.Testing;

/// <summary>
/// The Patronus checkout a test or benchmark runs from: its root is the first folder above the build
/// output holding Patronus.slnx. Fixtures reach examples, deploy/ and the published artifacts from here.
/// </summary>
public static class Checkout
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var directory = AppContext.BaseDirectory; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "Patronus.slnx")))
                return directory;
        }

        throw new InvalidOperationException($"Patronus.slnx not found above {AppContext.BaseDirectory}: run from inside the Patronus checkout");
    }
}
