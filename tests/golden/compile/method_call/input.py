import asyncio


class Account:
    def __init__(self):
        self.balance = 0

    async def deposit(self, amount):
        await asyncio.sleep(0)
        self.balance += amount
        return self.balance


async def main():
    account = Account()
    await account.deposit(5)
    return await account.deposit(amount=7)
