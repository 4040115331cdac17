"""Generators and discriminators: plain nn.Modules, sized by configuration, no Lightning inside.

Every network takes a `width` (its base channel or unit count), so `model.generator.width=8` shrinks
any model the same way; that is what `debug=smoke` relies on.
"""
