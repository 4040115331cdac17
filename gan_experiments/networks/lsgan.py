"""The former names of the course notes' convolutional GAN networks (now `networks/conv_gan.py`), kept for
`model=lsgan` (the deprecated name of `model=conv_gan`, whose configs still name these classes) and for
checkpoints and packed generators written before the rename, whose run configs name them
(`_target_: gan_experiments.networks.lsgan.LSGANGenerator`). "LSGAN" named the loss the notes train the
networks with, not the networks. Subclasses without anything added: the same layers and state-dict
keys, under the name the config used."""

from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator, conv_gan_stages


class LSGANGenerator(ConvGANGenerator):
    """`ConvGANGenerator` under its former name."""


class LSGANDiscriminator(ConvGANDiscriminator):
    """`ConvGANDiscriminator` under its former name."""


lsgan_stages = conv_gan_stages
