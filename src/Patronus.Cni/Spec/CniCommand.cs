namespace Patronus.Cni.Spec;

public enum CniCommand
{
    Add,
    Del,
    Check,
    Gc,
    Status,
    Version,
}
