namespace Jex.Runtime.UserCode;

/// <summary>User code could not be loaded. The message names the file and the reason.</summary>
internal sealed class UserCodeLoadException : Exception
{
    public UserCodeLoadException(string message, Exception? inner = null) : base(message, inner) { }
}
