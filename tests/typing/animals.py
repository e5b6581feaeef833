"""Types shared by the typing examples."""


class Animal:
    """Any animal."""

    name = "animal"


class Dog(Animal):
    """A dog, which is an animal."""

    def bark(self) -> str:
        """Say woof."""
        return "woof"
