namespace Jex.UserCode;

/// <summary>
/// A map entry: take it as a parameter to see the journal event's key as well as its value, or
/// return it to choose the output's key.
/// </summary>
/// <typeparam name="TKey">The key type; any type a function parameter may have.</typeparam>
/// <typeparam name="TValue">The value type; any type a function parameter may have.</typeparam>
/// <param name="Key">The entry's key.</param>
/// <param name="Value">The entry's value. <see langword="null"/> when the journal event removed the entry.</param>
public readonly record struct MapEntry<TKey, TValue>(TKey Key, TValue Value);
