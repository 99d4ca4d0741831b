from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


class Account:
    def __init__(self):
        self.balance = 0

    async def deposit(self, amount):
        await __dc_ckpt__(('asyncio.sleep', 9, 9), asyncio.sleep, 0)
        self.balance += amount
        return self.balance


async def main():
    account = Account()
    await __dc_ckpt__(('account.deposit', 16, 5), account.deposit, 5)
    return await __dc_ckpt__(('account.deposit', 17, 12), account.deposit, amount=7)
