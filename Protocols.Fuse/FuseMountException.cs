namespace Protocols.Fuse;

/// <summary>The mount could not be made or kept: the message says why in words an operator can act on.</summary>
public sealed class FuseMountException(string message, Exception? inner = null) : Exception(message, inner);
